// i2c-dev ioctls (I2C_SLAVE, I2C_FUNCS, I2C_RDWR), their structs, and libi2c's SMBus helpers.
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>
