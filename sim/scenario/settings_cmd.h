/*
 * `clustersim settings [--markdown]`: every setting a scenario or --set can
 * change, with its default, bounds, unit, what it controls and why the
 * default is what it is. The README's settings table is this command's
 * markdown output (a test keeps them identical).
 */
#ifndef SETTINGS_CMD_H
#define SETTINGS_CMD_H

int settings_cmd_main(int argc, char **argv);

#endif
