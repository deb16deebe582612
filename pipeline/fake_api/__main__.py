"""python -m pipeline.fake_api: serve the fake API until Ctrl-C."""

from pipeline.fake_api.command import main

raise SystemExit(main())
