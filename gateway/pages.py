"""The web page: upload a photo, pick a style, see and download the painting."""
from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    return render_template("index.html", max_mb=current_app.config["MAX_CONTENT_LENGTH"] >> 20)
