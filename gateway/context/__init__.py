"""Request context: device, local time, geo, referrer, UTM, language, consent. Imports only common."""
