"""One module per `igpub` command group; main.py registers them. A command parses its options, calls
igpub_cli.api (where the logic lives) and prints with igpub_cli.ui."""
