"""The signed-URL storage plane: verification and atomic blob writes (``plane``), served as
raw ASGI in the API process (``asgi``) or by storage worker processes."""
