from django.urls import path

from services import views

urlpatterns = [path("api/whoami/", views.whoami, name="whoami")]
