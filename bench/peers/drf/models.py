"""The api's tables as unmanaged Django models (the api's migrations own the schema)."""

from __future__ import annotations

from django.db import models


class Project(models.Model):
    owner_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)

    class Meta:
        managed = False
        db_table = "projects"


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.DO_NOTHING, related_name="tasks")
    owner_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    notes = models.TextField()
    status = models.CharField(max_length=10)
    priority = models.IntegerField()
    due_date = models.DateField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.IntegerField()

    class Meta:
        managed = False
        db_table = "tasks"


class TaskTag(models.Model):
    pk = models.CompositePrimaryKey("task_id", "tag")
    task = models.ForeignKey(Task, on_delete=models.DO_NOTHING, related_name="tags")
    tag = models.CharField(max_length=40)

    class Meta:
        managed = False
        db_table = "task_tags"
        ordering = ["tag"]
