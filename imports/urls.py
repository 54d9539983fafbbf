from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("<uuid:task_id>/events", views.job_events, name="job-events"),
    path("<uuid:task_id>/errors.csv", views.job_errors_csv, name="job-errors"),
]
