# SPDX-License-Identifier: Apache-2.0
"""Request context: device, local time, geo, referrer, UTM, language, consent. Imports only common."""
