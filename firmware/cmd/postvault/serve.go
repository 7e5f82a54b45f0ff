package main

func serveMain(io stdio, args []string) error { return errNotYet }
