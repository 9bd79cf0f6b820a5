#include "enricher.h"
