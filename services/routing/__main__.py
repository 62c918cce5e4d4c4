from services.routing.service import SERVICE, build
from services.runtime.lifecycle import main

main(SERVICE, build)
