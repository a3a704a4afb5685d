from vmrun.cli import main

main()
