from bai.main import main

main()
