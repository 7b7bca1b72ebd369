// placeholder, replaced by the LinuxIO work
