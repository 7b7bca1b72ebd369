#include "aliquot_gpio.h"
