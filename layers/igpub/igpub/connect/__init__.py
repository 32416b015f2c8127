"""Connect: how an Instagram professional account joins igpub. Invites, the OAuth flows (Instagram
Login, and Facebook Login for hashtag search), their shared steps, and the pages the routes answer with."""
