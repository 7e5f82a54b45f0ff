package main

func disksMain(io stdio, args []string) error { return errNotYet }

func smartMain(io stdio, args []string) error { return errNotYet }
