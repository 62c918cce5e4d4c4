from services.intake.service import SERVICE, build
from services.messaging.runtime import main

main(SERVICE, build)
