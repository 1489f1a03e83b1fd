"""HOW WE TELL: allure attachments, the certification report, the history of figures."""
