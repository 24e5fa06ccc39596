package main

import "github.com/spf13/cobra"

func newProvenanceCmd() *cobra.Command {
	return &cobra.Command{Use: "provenance", Hidden: true}
}
