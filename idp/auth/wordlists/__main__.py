from idp.auth.wordlists import _regenerate

_regenerate()
