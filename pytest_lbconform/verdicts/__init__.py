"""HOW WE JUDGE: pure functions over probe records; every verdict keeps its figures and evidence."""
