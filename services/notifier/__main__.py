from services.messaging.runtime import main
from services.notifier.service import SERVICE, build

main(SERVICE, build)
