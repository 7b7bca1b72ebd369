// placeholder, replaced by the Rig work
