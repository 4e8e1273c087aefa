"""Platform adapters: platform events in, domain calls out; domain messages out as platform calls."""
