// i2c-dev ioctls (I2C_SLAVE, I2C_FUNCS, I2C_RDWR), their structs, and libi2c's SMBus helpers.
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <i2c/smbus.h>

// ioctl(2) is variadic, which Swift cannot call with the exact argument types the kernel reads;
// these fix each i2c-dev request's argument type. Never I2C_SLAVE_FORCE (it steals an address
// from a kernel driver).

/// ioctl(fd, I2C_SLAVE, address): set the 7-bit target address for read/write and SMBus calls.
static inline int aliquot_i2c_ioctl_slave(int fd, unsigned long address) {
    return ioctl(fd, I2C_SLAVE, address);
}

/// ioctl(fd, I2C_FUNCS, &functionality): the adapter's I2C_FUNC_* mask.
static inline int aliquot_i2c_ioctl_funcs(int fd, unsigned long *functionality) {
    return ioctl(fd, I2C_FUNCS, functionality);
}

/// ioctl(fd, I2C_RDWR, &data): combined transfer, one START per message and one STOP at the end.
/// Returns the number of messages transferred.
static inline int aliquot_i2c_ioctl_rdwr(int fd, struct i2c_rdwr_ioctl_data *data) {
    return ioctl(fd, I2C_RDWR, data);
}
