"""Publishing: a post request (its kinds, validation, captions, media checks) and the tasks of the
PublishPost state machine that take it to published or failed with a reason, never twice."""
