// placeholder, replaced by the Twin work
