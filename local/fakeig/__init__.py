"""Fake Instagram / Meta Graph API server for igpub's local stack and tests.

One HTTP server (stdlib ``ThreadingHTTPServer``; default ``127.0.0.1:4580``) plays every Meta host,
chosen by a path prefix equal to the host name:

* ``/www.instagram.com/oauth/authorize`` (also ``/api.instagram.com/oauth/authorize``): consent
  (``consent_mode`` auto_approve | deny | page; ``login_as=<username>`` picks the user)
* ``/api.instagram.com/oauth/access_token``: code -> short-lived IG token
* ``/graph.instagram.com/[vNN.N/]...``: IG Login graph API (``access_token``, ``refresh_access_token``,
  ``me``, ``{ig}/media``, ``{ig}/media_publish``, ``{ig}/content_publishing_limit``, ``{ig}/stories``,
  ``{ig}/subscribed_apps``, ``{container}``, ``{media}``, ``{media}/children``)
* ``/graph.facebook.com/[vNN.N/]...``: FB Login graph API (``oauth/access_token``, ``debug_token``,
  ``me/accounts``, ``ig_hashtag_search``, ``{hashtag}``, ``{hashtag}/top_media|recent_media``,
  ``{ig}/recently_searched_hashtags`` and the publishing routes)
* ``/www.facebook.com/[vNN.N/]dialog/oauth``: Facebook Login dialog
* ``/rupload.facebook.com/ig-api-upload/vNN.N/{container}``: resumable video upload
* ``/cdn/...``: generated test media (see :mod:`fakeig.cdn`)
* ``/_fake/...``: control API (see :mod:`fakeig.control`)

Entry points: :func:`fakeig.app.create_app`, ``fake-instagram`` (:func:`fakeig.server.main`),
:func:`fakeig.testing.running_fake` / :class:`fakeig.testing.FakeInstagram` for tests.
"""
