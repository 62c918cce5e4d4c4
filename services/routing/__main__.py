from services.messaging.runtime import main
from services.routing.service import SERVICE, build

main(SERVICE, build)
