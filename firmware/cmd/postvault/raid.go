package main

func raidMain(io stdio, args []string) error { return errNotYet }
