package main

func userMain(io stdio, args []string) error { return errNotYet }

func aliasMain(io stdio, args []string) error { return errNotYet }

func deliverMain(io stdio, args []string) error { return errNotYet }

func storeMain(io stdio, args []string) error { return errNotYet }

func recoverMain(io stdio, args []string) error { return errNotYet }
