import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeroom.settings")
os.environ.setdefault("HOMEROOM_SERVING", "true")
application = get_wsgi_application()
