package main

func bayMain(io stdio, args []string) error { return errNotYet }
