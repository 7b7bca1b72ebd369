// placeholder, replaced by the Devices work
