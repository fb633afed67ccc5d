from nnworked.cli import main

main()
