package main

// raidMaintCommands returns the `postvault raid` subcommands that maintain an
// assembled array (add, replace, rebuild, scrub), keyed by name. raid.go's
// dispatcher consults it.
func raidMaintCommands() map[string]func(io stdio, args []string) error {
	return map[string]func(io stdio, args []string) error{}
}
