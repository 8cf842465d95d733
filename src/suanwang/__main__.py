from suanwang.cli.main import main

main()
