"""igpub: self-hosted Instagram publishing (the library shipped in the Lambda layer)."""

import random as _random

# Lambda SnapStart (template parameter PublisherSnapStart): every environment restored from one snapshot
# starts with the snapshot's pseudo-random state, so retry jitter would be the same everywhere. Re-seed
# after each restore (the runtime hook module exists in Lambda's Python 3.12+ runtimes only).
try:
    from snapshot_restore_py import register_after_restore as _after_restore
except ImportError:
    pass
else:
    _after_restore(_random.seed)
