"""Engage: what happens around a published post. Comments and account insights on demand, media
insights collected on a schedule, and Instagram's signed webhooks turned into events."""
