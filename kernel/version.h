#ifndef TURTLE_VERSION_H
#define TURTLE_VERSION_H
#define TURTLE_VERSION "0.1.0"
#endif
