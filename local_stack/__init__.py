"""The site on one machine: supervised model servers and the gateway (`make run`)."""
