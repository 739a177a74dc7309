"""Stand-in for the file ucc-gen generates: the test environment already has lib/ on sys.path."""
