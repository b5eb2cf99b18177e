"""Activity beyond texts: social events, Flickr, offline demonstrations, places.

Uses storage, history's rollups and the live view.
"""
