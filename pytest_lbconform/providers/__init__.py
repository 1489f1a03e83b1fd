"""WHAT LB: provider specs (``fixtures/providers/*.yaml``) and the code behind them."""
