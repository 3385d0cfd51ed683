from qcservice.cli import main

main()
