from services.routing.bootstrap import main

main()
