"""Industry interfaces: EDIFACT DELJIT in, DESADV out."""
