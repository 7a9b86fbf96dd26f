"""The project's URLs plus the bare baseline at /bench/bare/."""

from django.urls import path

from bench.views import bare
from nps.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("bench/bare/", bare, name="bench-bare")]
