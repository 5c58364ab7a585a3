"""`digitnet serve`: draw a digit in the browser and watch the network read it.

app.py is the web application (FastAPI): the page in static/ and a JSON API
that runs the very preprocessing `digitnet predict` uses; docs.py is its /docs,
refusals.py how it answers bad requests. server.py runs it on uvicorn: a
listening socket per worker process, and Nagle's algorithm off. FastAPI and
uvicorn are an optional extra, `pip install -e .[web]`, imported only here.
"""
