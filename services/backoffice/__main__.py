from services.backoffice.bootstrap import SERVICE, build
from services.runtime.lifecycle import main

main(SERVICE, build)
